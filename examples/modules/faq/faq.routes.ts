import { Router } from "express";
import { authenticate, requireRole } from "../_shared/auth";
import { asyncHandler } from "../_shared/utils";
import {
  createFaq,
  deleteFaq,
  getFaq,
  listFaqs,
  updateFaq,
} from "./faq.controller";

const router = Router();

router.get("/", asyncHandler(listFaqs));
router.get("/:id", asyncHandler(getFaq));
router.post("/", authenticate, requireRole("admin", "editor"), asyncHandler(createFaq));
router.put("/:id", authenticate, requireRole("admin", "editor"), asyncHandler(updateFaq));
router.delete("/:id", authenticate, requireRole("admin"), asyncHandler(deleteFaq));

export default router;
