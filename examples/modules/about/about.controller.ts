import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { AboutSection } from "./about.model";

const EDITABLE = ["title", "body", "image", "order", "isActive"] as const;

export async function listAboutSections(req: TenantRequest, res: Response) {
  const items = await AboutSection.find({ tenant: req.tenant, isActive: true })
    .sort({ order: 1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getAboutSection(req: TenantRequest, res: Response) {
  const item = await AboutSection.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "AboutSection");
  res.json({ success: true, data: item });
}

export async function createAboutSection(req: TenantRequest, res: Response) {
  const item = await AboutSection.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updateAboutSection(req: TenantRequest, res: Response) {
  const item = await AboutSection.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "AboutSection");
  res.json({ success: true, data: item });
}

export async function deleteAboutSection(req: TenantRequest, res: Response) {
  const result = await AboutSection.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "AboutSection");
  res.status(204).end();
}
