import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createBlogPost,
  deleteBlogPost,
  getBlogPost,
  listBlogPosts,
  updateBlogPost,
} from "./blog.controller";

const router = Router();

router.get("/", asyncHandler(listBlogPosts));
router.get("/:id", asyncHandler(getBlogPost));
router.post("/", authenticate, requireRole("admin", "editor"), asyncHandler(createBlogPost));
router.put("/:id", authenticate, requireRole("admin", "editor"), asyncHandler(updateBlogPost));
router.delete("/:id", authenticate, requireRole("admin"), asyncHandler(deleteBlogPost));

export default router;
