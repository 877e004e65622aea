import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createGalleryItem,
  deleteGalleryItem,
  getGalleryItem,
  listGalleryItems,
  updateGalleryItem,
} from "./gallery.controller";

const router = Router();

router.get("/", asyncHandler(listGalleryItems));
router.get("/:id", asyncHandler(getGalleryItem));
router.post("/", authenticate, requireRole("admin", "editor"), asyncHandler(createGalleryItem));
router.put("/:id", authenticate, requireRole("admin", "editor"), asyncHandler(updateGalleryItem));
router.delete("/:id", authenticate, requireRole("admin"), asyncHandler(deleteGalleryItem));

export default router;
