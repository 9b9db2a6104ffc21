/** Types of build.js (plain JavaScript so that it runs before anything is compiled). */
export declare const DIST: string
export declare const ENTRY: string
export declare function isStale(): boolean
export declare function build(): string
