import { Document, Schema, model } from "mongoose";
import { TranslatedField } from "../_shared/types";

export interface IBlogPost extends Document {
  tenant: string;
  title: TranslatedField;
  slug: string;
  summary: TranslatedField;
  content: TranslatedField;
  tags: string[];
  author: string;
  isPublished: boolean;
  publishedAt: Date | null;
}

const blogPostSchema = new Schema<IBlogPost>(
  {
    tenant: { type: String, required: true, index: true },
    title: { type: Object, required: true },
    slug: { type: String, required: true, trim: true },
    summary: { type: Object, default: {} },
    content: { type: Object, default: {} },
    tags: { type: [String], default: [] },
    author: { type: String, default: "" },
    isPublished: { type: Boolean, default: false },
    publishedAt: { type: Date, default: null },
  },
  { timestamps: true }
);

blogPostSchema.index({ tenant: 1, slug: 1 }, { unique: true });

export const BlogPost = model<IBlogPost>("BlogPost", blogPostSchema);
