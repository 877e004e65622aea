import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { Faq } from "./faq.model";

const EDITABLE = [
  "question",
  "answer",
  "category",
  "order",
  "isActive",
] as const;

export async function listFaqs(req: TenantRequest, res: Response) {
  const items = await Faq.find({ tenant: req.tenant, isActive: true })
    .sort({ category: 1, order: 1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getFaq(req: TenantRequest, res: Response) {
  const item = await Faq.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "Faq");
  res.json({ success: true, data: item });
}

export async function createFaq(req: TenantRequest, res: Response) {
  const item = await Faq.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updateFaq(req: TenantRequest, res: Response) {
  const item = await Faq.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "Faq");
  res.json({ success: true, data: item });
}

export async function deleteFaq(req: TenantRequest, res: Response) {
  const result = await Faq.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "Faq");
  res.status(204).end();
}
