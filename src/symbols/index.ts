// Symbolisation of stack frames that outlives the processes: build id + file offset through the ELF
// symbol tables of the file with that build id (src/elf), bare addresses through a process's recorded
// mappings or its JIT's perf map, kernel addresses through /proc/kallsyms. See docs/stacks.md.
export { BuildIdLocator, padBuildId, type Located } from './build-ids.js';
export { KernelSymbols } from './kallsyms.js';
export { PerfMap } from './perf-map.js';
export { parseMaps, readMaps, mappingAt, isFileMapping, type Mapping } from './proc-maps.js';
export { demangle } from './demangle.js';
export { Symbolizer, type NamedFrame, type RawUserFrame, type Resolution, type SymbolizerOptions } from './symbolizer.js';
