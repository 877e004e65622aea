import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createContactMessage,
  deleteContactMessage,
  getContactMessage,
  listContactMessages,
} from "./contact.controller";

const router = Router();

// Visitors send messages; only staff read them.
router.post("/", asyncHandler(createContactMessage));
router.get("/", authenticate, requireRole("admin", "editor"), asyncHandler(listContactMessages));
router.get("/:id", authenticate, requireRole("admin", "editor"), asyncHandler(getContactMessage));
router.delete("/:id", authenticate, requireRole("admin"), asyncHandler(deleteContactMessage));

export default router;
