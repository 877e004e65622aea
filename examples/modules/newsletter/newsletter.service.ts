import { randomBytes } from "crypto";
import { Subscriber } from "./newsletter.model";

export async function subscribe(tenant: string, email: string, locale = "en") {
  const confirmToken = randomBytes(24).toString("hex");
  return Subscriber.findOneAndUpdate(
    { tenant, email: email.trim().toLowerCase() },
    { $setOnInsert: { locale, confirmToken }, $set: { unsubscribedAt: null } },
    { upsert: true, new: true }
  );
}

export async function confirm(tenant: string, token: string) {
  const result = await Subscriber.updateOne(
    { tenant, confirmToken: token },
    { $set: { isConfirmed: true, confirmToken: "" } }
  );
  return result.modifiedCount === 1;
}

export async function unsubscribe(tenant: string, email: string) {
  await Subscriber.updateOne({ tenant, email }, { $set: { unsubscribedAt: new Date() } });
}
