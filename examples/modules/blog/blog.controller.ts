import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { BlogPost } from "./blog.model";

const EDITABLE = [
  "title",
  "slug",
  "summary",
  "content",
  "tags",
  "author",
  "isPublished",
  "publishedAt",
] as const;

export async function listBlogPosts(req: TenantRequest, res: Response) {
  const items = await BlogPost.find({ tenant: req.tenant, isPublished: true })
    .sort({ publishedAt: -1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getBlogPost(req: TenantRequest, res: Response) {
  const item = await BlogPost.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "BlogPost");
  res.json({ success: true, data: item });
}

export async function createBlogPost(req: TenantRequest, res: Response) {
  const item = await BlogPost.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updateBlogPost(req: TenantRequest, res: Response) {
  const item = await BlogPost.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "BlogPost");
  res.json({ success: true, data: item });
}

export async function deleteBlogPost(req: TenantRequest, res: Response) {
  const result = await BlogPost.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "BlogPost");
  res.status(204).end();
}
