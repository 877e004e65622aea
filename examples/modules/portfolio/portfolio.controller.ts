import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { PortfolioItem } from "./portfolio.model";

const EDITABLE = [
  "title",
  "slug",
  "client",
  "description",
  "images",
  "completedAt",
] as const;

export async function listPortfolioItems(req: TenantRequest, res: Response) {
  const items = await PortfolioItem.find({ tenant: req.tenant })
    .sort({ completedAt: -1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getPortfolioItem(req: TenantRequest, res: Response) {
  const item = await PortfolioItem.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "PortfolioItem");
  res.json({ success: true, data: item });
}

export async function createPortfolioItem(req: TenantRequest, res: Response) {
  const item = await PortfolioItem.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updatePortfolioItem(req: TenantRequest, res: Response) {
  const item = await PortfolioItem.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "PortfolioItem");
  res.json({ success: true, data: item });
}

export async function deletePortfolioItem(req: TenantRequest, res: Response) {
  const result = await PortfolioItem.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "PortfolioItem");
  res.status(204).end();
}
