import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createJobPosting,
  deleteJobPosting,
  getJobPosting,
  listJobPostings,
  updateJobPosting,
} from "./careers.controller";

const router = Router();

router.get("/", asyncHandler(listJobPostings));
router.get("/:id", asyncHandler(getJobPosting));
router.post("/", authenticate, requireRole("admin", "editor"), asyncHandler(createJobPosting));
router.put("/:id", authenticate, requireRole("admin", "editor"), asyncHandler(updateJobPosting));
router.delete("/:id", authenticate, requireRole("admin"), asyncHandler(deleteJobPosting));

export default router;
