import { Document, Schema, model } from "mongoose";
import { TranslatedField } from "../_shared/types";

export interface IJobPosting extends Document {
  tenant: string;
  title: TranslatedField;
  slug: string;
  department: string;
  location: string;
  employmentType: "full-time" | "part-time" | "contract";
  description: TranslatedField;
  isOpen: boolean;
}

const jobPostingSchema = new Schema<IJobPosting>(
  {
    tenant: { type: String, required: true, index: true },
    title: { type: Object, required: true },
    slug: { type: String, required: true, trim: true },
    department: { type: String, default: "" },
    location: { type: String, default: "Remote" },
    employmentType: { type: String, enum: ["full-time", "part-time", "contract"], default: "full-time" },
    description: { type: Object, default: {} },
    isOpen: { type: Boolean, default: true },
  },
  { timestamps: true }
);

jobPostingSchema.index({ tenant: 1, slug: 1 }, { unique: true });

export const JobPosting = model<IJobPosting>("JobPosting", jobPostingSchema);
