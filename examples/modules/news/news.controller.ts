import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { NewsItem } from "./news.model";

const EDITABLE = [
  "title",
  "slug",
  "content",
  "source",
  "isPublished",
  "publishedAt",
] as const;

export async function listNewsItems(req: TenantRequest, res: Response) {
  const items = await NewsItem.find({ tenant: req.tenant, isPublished: true })
    .sort({ publishedAt: -1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getNewsItem(req: TenantRequest, res: Response) {
  const item = await NewsItem.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "NewsItem");
  res.json({ success: true, data: item });
}

export async function createNewsItem(req: TenantRequest, res: Response) {
  const item = await NewsItem.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updateNewsItem(req: TenantRequest, res: Response) {
  const item = await NewsItem.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "NewsItem");
  res.json({ success: true, data: item });
}

export async function deleteNewsItem(req: TenantRequest, res: Response) {
  const result = await NewsItem.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "NewsItem");
  res.status(204).end();
}
