import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createPortfolioItem,
  deletePortfolioItem,
  getPortfolioItem,
  listPortfolioItems,
  updatePortfolioItem,
} from "./portfolio.controller";

const router = Router();

router.get("/", asyncHandler(listPortfolioItems));
router.get("/:id", asyncHandler(getPortfolioItem));
router.post("/", authenticate, requireRole("admin", "editor"), asyncHandler(createPortfolioItem));
router.put("/:id", authenticate, requireRole("admin", "editor"), asyncHandler(updatePortfolioItem));
router.delete("/:id", authenticate, requireRole("admin"), asyncHandler(deletePortfolioItem));

export default router;
