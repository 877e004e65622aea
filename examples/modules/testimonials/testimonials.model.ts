import { Document, Schema, model } from "mongoose";
import { TranslatedField } from "../_shared/types";

export interface ITestimonial extends Document {
  tenant: string;
  customerName: string;
  company: string;
  comment: TranslatedField;
  rating: number;
  isApproved: boolean;
}

const testimonialSchema = new Schema<ITestimonial>(
  {
    tenant: { type: String, required: true, index: true },
    customerName: { type: String, required: true },
    company: { type: String, default: "" },
    comment: { type: Object, required: true },
    rating: { type: Number, min: 1, max: 5, default: 5 },
    isApproved: { type: Boolean, default: false },
  },
  { timestamps: true }
);

export const Testimonial = model<ITestimonial>("Testimonial", testimonialSchema);
