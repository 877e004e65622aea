import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createService,
  deleteService,
  getService,
  listServices,
  updateService,
} from "./services.controller";

const router = Router();

router.get("/", asyncHandler(listServices));
router.get("/:id", asyncHandler(getService));
router.post("/", authenticate, requireRole("admin", "editor"), asyncHandler(createService));
router.put("/:id", authenticate, requireRole("admin", "editor"), asyncHandler(updateService));
router.delete("/:id", authenticate, requireRole("admin"), asyncHandler(deleteService));

export default router;
