import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { Testimonial } from "./testimonials.model";

const EDITABLE = [
  "customerName",
  "company",
  "comment",
  "rating",
  "isApproved",
] as const;

export async function listTestimonials(req: TenantRequest, res: Response) {
  const items = await Testimonial.find({ tenant: req.tenant, isApproved: true })
    .sort({ createdAt: -1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getTestimonial(req: TenantRequest, res: Response) {
  const item = await Testimonial.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "Testimonial");
  res.json({ success: true, data: item });
}

export async function createTestimonial(req: TenantRequest, res: Response) {
  const item = await Testimonial.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updateTestimonial(req: TenantRequest, res: Response) {
  const item = await Testimonial.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "Testimonial");
  res.json({ success: true, data: item });
}

export async function deleteTestimonial(req: TenantRequest, res: Response) {
  const result = await Testimonial.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "Testimonial");
  res.status(204).end();
}
