import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createSubscriber,
  deleteSubscriber,
  listSubscribers,
} from "./newsletter.controller";

const router = Router();

router.post("/subscribe", asyncHandler(createSubscriber));
router.get("/subscribers", authenticate, requireRole("admin"), asyncHandler(listSubscribers));
router.delete("/subscribers/:id", authenticate, requireRole("admin"), asyncHandler(deleteSubscriber));

export default router;
