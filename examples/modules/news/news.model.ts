import { Document, Schema, model } from "mongoose";
import { TranslatedField } from "../_shared/types";

export interface INewsItem extends Document {
  tenant: string;
  title: TranslatedField;
  slug: string;
  content: TranslatedField;
  source: string;
  isPublished: boolean;
  publishedAt: Date | null;
}

const newsItemSchema = new Schema<INewsItem>(
  {
    tenant: { type: String, required: true, index: true },
    title: { type: Object, required: true },
    slug: { type: String, required: true, trim: true },
    content: { type: Object, default: {} },
    source: { type: String, default: "" },
    isPublished: { type: Boolean, default: false },
    publishedAt: { type: Date, default: null },
  },
  { timestamps: true }
);

newsItemSchema.index({ tenant: 1, slug: 1 }, { unique: true });

export const NewsItem = model<INewsItem>("NewsItem", newsItemSchema);
