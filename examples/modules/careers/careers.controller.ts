import { Response } from "express";
import { TenantRequest } from "../_shared/types";
import { notFound, pick } from "../_shared/utils";
import { JobPosting } from "./careers.model";

const EDITABLE = [
  "title",
  "slug",
  "department",
  "location",
  "employmentType",
  "description",
  "isOpen",
] as const;

export async function listJobPostings(req: TenantRequest, res: Response) {
  const items = await JobPosting.find({ tenant: req.tenant, isOpen: true })
    .sort({ createdAt: -1 })
    .limit(100)
    .lean();
  res.json({ success: true, data: items });
}

export async function getJobPosting(req: TenantRequest, res: Response) {
  const item = await JobPosting.findOne({ _id: req.params.id, tenant: req.tenant }).lean();
  if (!item) return notFound(res, "JobPosting");
  res.json({ success: true, data: item });
}

export async function createJobPosting(req: TenantRequest, res: Response) {
  const item = await JobPosting.create({ ...pick(req.body, EDITABLE), tenant: req.tenant });
  res.status(201).json({ success: true, data: item });
}

export async function updateJobPosting(req: TenantRequest, res: Response) {
  const item = await JobPosting.findOneAndUpdate(
    { _id: req.params.id, tenant: req.tenant },
    { $set: pick(req.body, EDITABLE) },
    { new: true, runValidators: true }
  );
  if (!item) return notFound(res, "JobPosting");
  res.json({ success: true, data: item });
}

export async function deleteJobPosting(req: TenantRequest, res: Response) {
  const result = await JobPosting.deleteOne({ _id: req.params.id, tenant: req.tenant });
  if (result.deletedCount === 0) return notFound(res, "JobPosting");
  res.status(204).end();
}
