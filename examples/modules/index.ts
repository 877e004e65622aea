import { Router } from "express";

import aboutRoutes from "./about/about.routes";
import blogRoutes from "./blog/blog.routes";
import careersRoutes from "./careers/careers.routes";
import contactRoutes from "./contact/contact.routes";
import eventsRoutes from "./events/events.routes";
import faqRoutes from "./faq/faq.routes";
import galleryRoutes from "./gallery/gallery.routes";
import newsRoutes from "./news/news.routes";
import newsletterRoutes from "./newsletter/newsletter.routes";
import portfolioRoutes from "./portfolio/portfolio.routes";
import pricingRoutes from "./pricing/pricing.routes";
import productsRoutes from "./products/products.routes";
import servicesRoutes from "./services/services.routes";
import teamRoutes from "./team/team.routes";
import testimonialsRoutes from "./testimonials/testimonials.routes";

/** Every module, mounted under /api/<module name>. */
export const modules: Record<string, Router> = {
  about: aboutRoutes,
  blog: blogRoutes,
  careers: careersRoutes,
  contact: contactRoutes,
  events: eventsRoutes,
  faq: faqRoutes,
  gallery: galleryRoutes,
  news: newsRoutes,
  newsletter: newsletterRoutes,
  portfolio: portfolioRoutes,
  pricing: pricingRoutes,
  products: productsRoutes,
  services: servicesRoutes,
  team: teamRoutes,
  testimonials: testimonialsRoutes,
};

export function registerModules(api: Router): void {
  for (const [name, router] of Object.entries(modules)) {
    api.use(`/${name}`, router);
  }
}
