import { slugify } from "../_shared/utils";
import { BlogPost } from "./blog.model";

/** A slug unique within the tenant: "my-post", "my-post-2", ... */
export async function uniqueSlug(tenant: string, title: string): Promise<string> {
  const base = slugify(title) || "post";
  let slug = base;
  for (let n = 2; await BlogPost.exists({ tenant, slug }); n++) {
    slug = `${base}-${n}`;
  }
  return slug;
}

export async function publish(tenant: string, id: string) {
  return BlogPost.findOneAndUpdate(
    { _id: id, tenant },
    { $set: { isPublished: true, publishedAt: new Date() } },
    { new: true }
  );
}
