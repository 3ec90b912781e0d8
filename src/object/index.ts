// BPF object files (clang -target bpf -c): parsing into ProgramSpec/MapSpec, with no kernel calls.
export { parseObject, readObject, decodeInsns, type BpfObject, type ObjectProgram, type ProgramFailure, type ParseOptions } from './object.js';
export { ObjectError, type ObjectProblem } from './errors.js';
export { sectionType, progTypeByName, progTypeName, PROG_TYPE_NAMES, ProgFlag, type SectionType } from './sections.js';
export { BPF_F_RDONLY_PROG, type ObjectMap } from './maps.js';
export { CoreKind, type CoreRelo } from './btf-ext.js';
export { CoreResolver, CORE_POISON } from './core.js';
