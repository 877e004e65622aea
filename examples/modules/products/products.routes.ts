import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createProduct,
  deleteProduct,
  getProduct,
  listProducts,
  updateProduct,
} from "./products.controller";

const router = Router();

router.get("/", asyncHandler(listProducts));
router.get("/:id", asyncHandler(getProduct));
router.post("/", authenticate, requireRole("admin", "editor"), asyncHandler(createProduct));
router.put("/:id", authenticate, requireRole("admin", "editor"), asyncHandler(updateProduct));
router.delete("/:id", authenticate, requireRole("admin"), asyncHandler(deleteProduct));

export default router;
