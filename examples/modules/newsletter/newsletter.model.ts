import { Document, Schema, model } from "mongoose";
import { SupportedLocale } from "../_shared/types";

export interface ISubscriber extends Document {
  tenant: string;
  email: string;
  locale: SupportedLocale;
  isConfirmed: boolean;
  confirmToken: string;
  unsubscribedAt: Date | null;
}

const subscriberSchema = new Schema<ISubscriber>(
  {
    tenant: { type: String, required: true, index: true },
    email: { type: String, required: true, lowercase: true, trim: true },
    locale: { type: String, default: "en" },
    isConfirmed: { type: Boolean, default: false },
    confirmToken: { type: String, default: "" },
    unsubscribedAt: { type: Date, default: null },
  },
  { timestamps: true }
);

subscriberSchema.index({ tenant: 1, email: 1 }, { unique: true });

export const Subscriber = model<ISubscriber>("Subscriber", subscriberSchema);
