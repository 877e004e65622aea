import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { Product } from "./products.model";

const EDITABLE = [
  "name",
  "slug",
  "sku",
  "price",
  "stock",
  "images",
  "isActive",
] as const;

export async function listProducts(req: TenantRequest, res: Response) {
  const items = await Product.find({ tenant: req.tenant, isActive: true })
    .sort({ createdAt: -1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getProduct(req: TenantRequest, res: Response) {
  const item = await Product.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "Product");
  res.json({ success: true, data: item });
}

export async function createProduct(req: TenantRequest, res: Response) {
  const item = await Product.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updateProduct(req: TenantRequest, res: Response) {
  const item = await Product.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "Product");
  res.json({ success: true, data: item });
}

export async function deleteProduct(req: TenantRequest, res: Response) {
  const result = await Product.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "Product");
  res.status(204).end();
}
