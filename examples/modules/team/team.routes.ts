import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createTeamMember,
  deleteTeamMember,
  getTeamMember,
  listTeamMembers,
  updateTeamMember,
} from "./team.controller";

const router = Router();

router.get("/", asyncHandler(listTeamMembers));
router.get("/:id", asyncHandler(getTeamMember));
router.post("/", authenticate, requireRole("admin", "editor"), asyncHandler(createTeamMember));
router.put("/:id", authenticate, requireRole("admin", "editor"), asyncHandler(updateTeamMember));
router.delete("/:id", authenticate, requireRole("admin"), asyncHandler(deleteTeamMember));

export default router;
