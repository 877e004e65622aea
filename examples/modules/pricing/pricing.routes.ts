import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createPricingPlan,
  deletePricingPlan,
  getPricingPlan,
  listPricingPlans,
  updatePricingPlan,
} from "./pricing.controller";

const router = Router();

router.get("/", asyncHandler(listPricingPlans));
router.get("/:id", asyncHandler(getPricingPlan));
router.post("/", authenticate, requireRole("admin", "editor"), asyncHandler(createPricingPlan));
router.put("/:id", authenticate, requireRole("admin", "editor"), asyncHandler(updatePricingPlan));
router.delete("/:id", authenticate, requireRole("admin"), asyncHandler(deletePricingPlan));

export default router;
