export { enqueue } from "./enqueue.ts";
export { claim } from "./claim.ts";
export { complete } from "./complete.ts";
export { fail } from "./fail.ts";
export { cancel } from "./cancel.ts";
export { requeue } from "./requeue.ts";
export { renew } from "./renew.ts";
export { recover } from "./recover.ts";
export { getJob, counts } from "./read.ts";
