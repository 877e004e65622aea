import { Document, Schema, model } from "mongoose";

export interface IContactMessage extends Document {
  tenant: string;
  name: string;
  email: string;
  phone: string;
  subject: string;
  message: string;
  isRead: boolean;
}

const contactMessageSchema = new Schema<IContactMessage>(
  {
    tenant: { type: String, required: true, index: true },
    name: { type: String, required: true, trim: true },
    email: { type: String, required: true, lowercase: true },
    phone: { type: String, default: "" },
    subject: { type: String, default: "" },
    message: { type: String, required: true, maxlength: 5000 },
    isRead: { type: Boolean, default: false },
  },
  { timestamps: true }
);

contactMessageSchema.index({ tenant: 1, createdAt: -1 });

export const ContactMessage = model<IContactMessage>("ContactMessage", contactMessageSchema);
