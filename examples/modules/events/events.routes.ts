import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createCalendarEvent,
  deleteCalendarEvent,
  getCalendarEvent,
  listCalendarEvents,
  updateCalendarEvent,
} from "./events.controller";

const router = Router();

router.get("/", asyncHandler(listCalendarEvents));
router.get("/:id", asyncHandler(getCalendarEvent));
router.post("/", authenticate, requireRole("admin", "editor"), asyncHandler(createCalendarEvent));
router.put("/:id", authenticate, requireRole("admin", "editor"), asyncHandler(updateCalendarEvent));
router.delete("/:id", authenticate, requireRole("admin"), asyncHandler(deleteCalendarEvent));

export default router;
