import { Document, Schema, model } from "mongoose";
import { TranslatedField } from "../_shared/types";

export interface IFaq extends Document {
  tenant: string;
  question: TranslatedField;
  answer: TranslatedField;
  category: string;
  order: number;
  isActive: boolean;
}

const faqSchema = new Schema<IFaq>(
  {
    tenant: { type: String, required: true, index: true },
    question: { type: Object, required: true },
    answer: { type: Object, required: true },
    category: { type: String, default: "general" },
    order: { type: Number, default: 0 },
    isActive: { type: Boolean, default: true },
  },
  { timestamps: true }
);

export const Faq = model<IFaq>("Faq", faqSchema);
