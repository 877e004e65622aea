import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { Service } from "./services.model";

const EDITABLE = [
  "title",
  "slug",
  "description",
  "icon",
  "order",
  "isActive",
] as const;

export async function listServices(req: TenantRequest, res: Response) {
  const items = await Service.find({ tenant: req.tenant, isActive: true })
    .sort({ order: 1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getService(req: TenantRequest, res: Response) {
  const item = await Service.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "Service");
  res.json({ success: true, data: item });
}

export async function createService(req: TenantRequest, res: Response) {
  const item = await Service.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updateService(req: TenantRequest, res: Response) {
  const item = await Service.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "Service");
  res.json({ success: true, data: item });
}

export async function deleteService(req: TenantRequest, res: Response) {
  const result = await Service.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "Service");
  res.status(204).end();
}
