import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createTestimonial,
  deleteTestimonial,
  getTestimonial,
  listTestimonials,
  updateTestimonial,
} from "./testimonials.controller";

const router = Router();

router.get("/", asyncHandler(listTestimonials));
router.get("/:id", asyncHandler(getTestimonial));
router.post("/", authenticate, requireRole("admin", "editor"), asyncHandler(createTestimonial));
router.put("/:id", authenticate, requireRole("admin", "editor"), asyncHandler(updateTestimonial));
router.delete("/:id", authenticate, requireRole("admin"), asyncHandler(deleteTestimonial));

export default router;
