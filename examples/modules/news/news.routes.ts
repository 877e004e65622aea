import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createNewsItem,
  deleteNewsItem,
  getNewsItem,
  listNewsItems,
  updateNewsItem,
} from "./news.controller";

const router = Router();

router.get("/", asyncHandler(listNewsItems));
router.get("/:id", asyncHandler(getNewsItem));
router.post("/", authenticate, requireRole("admin", "editor"), asyncHandler(createNewsItem));
router.put("/:id", authenticate, requireRole("admin", "editor"), asyncHandler(updateNewsItem));
router.delete("/:id", authenticate, requireRole("admin"), asyncHandler(deleteNewsItem));

export default router;
