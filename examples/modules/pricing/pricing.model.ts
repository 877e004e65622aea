import { Document, Schema, model } from "mongoose";
import { TranslatedField } from "../_shared/types";

export interface IPricingPlan extends Document {
  tenant: string;
  name: TranslatedField;
  price: number;
  currency: string;
  period: "monthly" | "yearly";
  features: TranslatedField[];
  isPopular: boolean;
  order: number;
}

const pricingPlanSchema = new Schema<IPricingPlan>(
  {
    tenant: { type: String, required: true, index: true },
    name: { type: Object, required: true },
    price: { type: Number, required: true, min: 0 },
    currency: { type: String, default: "EUR" },
    period: { type: String, enum: ["monthly", "yearly"], default: "monthly" },
    features: { type: [Object], default: [] },
    isPopular: { type: Boolean, default: false },
    order: { type: Number, default: 0 },
  },
  { timestamps: true }
);

export const PricingPlan = model<IPricingPlan>("PricingPlan", pricingPlanSchema);
