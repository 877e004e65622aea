import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { PricingPlan } from "./pricing.model";

const EDITABLE = [
  "name",
  "price",
  "currency",
  "period",
  "features",
  "isPopular",
  "order",
] as const;

export async function listPricingPlans(req: TenantRequest, res: Response) {
  const items = await PricingPlan.find({ tenant: req.tenant })
    .sort({ order: 1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getPricingPlan(req: TenantRequest, res: Response) {
  const item = await PricingPlan.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "PricingPlan");
  res.json({ success: true, data: item });
}

export async function createPricingPlan(req: TenantRequest, res: Response) {
  const item = await PricingPlan.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updatePricingPlan(req: TenantRequest, res: Response) {
  const item = await PricingPlan.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "PricingPlan");
  res.json({ success: true, data: item });
}

export async function deletePricingPlan(req: TenantRequest, res: Response) {
  const result = await PricingPlan.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "PricingPlan");
  res.status(204).end();
}
