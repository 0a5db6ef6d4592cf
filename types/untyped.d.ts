/** Ambient declarations for JavaScript dependencies that ship no TypeScript types. */
declare module "snarkjs";
declare module "ffjavascript";
declare module "circomlibjs";
declare module "ejs";
declare module "circom_runtime";
