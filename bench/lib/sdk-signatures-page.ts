/**
 * The page script of bench/sdk-signatures.ts's Chromium run: esbuild bundles
 * this file with the SDK (protocol and client sources) and the page exposes
 * the measurements for Playwright to call.
 */
import { measureSdkSignatures } from './sdk-signature-costs.ts';

(globalThis as { measureSdkSignatures?: typeof measureSdkSignatures }).measureSdkSignatures = measureSdkSignatures;
