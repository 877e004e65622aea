import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { GalleryItem } from "./gallery.model";

const EDITABLE = [
  "title",
  "imageUrl",
  "thumbnailUrl",
  "album",
  "order",
  "isPublished",
] as const;

export async function listGalleryItems(req: TenantRequest, res: Response) {
  const items = await GalleryItem.find({ tenant: req.tenant, isPublished: true })
    .sort({ album: 1, order: 1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getGalleryItem(req: TenantRequest, res: Response) {
  const item = await GalleryItem.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "GalleryItem");
  res.json({ success: true, data: item });
}

export async function createGalleryItem(req: TenantRequest, res: Response) {
  const item = await GalleryItem.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updateGalleryItem(req: TenantRequest, res: Response) {
  const item = await GalleryItem.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "GalleryItem");
  res.json({ success: true, data: item });
}

export async function deleteGalleryItem(req: TenantRequest, res: Response) {
  const result = await GalleryItem.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "GalleryItem");
  res.status(204).end();
}
