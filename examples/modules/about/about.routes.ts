import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createAboutSection,
  deleteAboutSection,
  getAboutSection,
  listAboutSections,
  updateAboutSection,
} from "./about.controller";

const router = Router();

router.get("/", asyncHandler(listAboutSections));
router.get("/:id", asyncHandler(getAboutSection));
router.post("/", authenticate, requireRole("admin", "editor"), asyncHandler(createAboutSection));
router.put("/:id", authenticate, requireRole("admin", "editor"), asyncHandler(updateAboutSection));
router.delete("/:id", authenticate, requireRole("admin"), asyncHandler(deleteAboutSection));

export default router;
