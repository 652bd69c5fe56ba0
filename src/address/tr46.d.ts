// tr46 7 ships no type declarations; only what we call is declared here.
declare module 'tr46' {
  export interface ToAsciiOptions {
    checkHyphens?: boolean;
    checkBidi?: boolean;
    checkJoiners?: boolean;
    useSTD3ASCIIRules?: boolean;
    verifyDNSLength?: boolean;
    transitionalProcessing?: boolean;
    ignoreInvalidPunycode?: boolean;
  }
  /** Returns null when the domain is not valid under the given options. */
  export function toASCII(domain: string, options?: ToAsciiOptions): string | null;
  export function toUnicode(
    domain: string,
    options?: ToAsciiOptions,
  ): { domain: string; error: boolean };
}
