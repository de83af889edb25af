/**
 * RFC 6962 / RFC 9162 Merkle tree core: hashing, tree heads, proof
 * generation over stored nodes, compact ranges, verifiers and proof documents.
 * Pure code: no I/O, no framework imports; SHA-256 from `node:crypto` only.
 */
export { type MerkleHasher, rfc6962Hasher, bytesEqual, toBase64, fromBase64Strict } from './hasher.js';
export {
  type MerkleTreeErrorKind,
  MerkleTreeError,
  type NodeID,
  type NodeAt,
  type NodeAtAsync,
  type ProofPlan,
  type OnNode,
  type CompactRangeJSON,
  rootFromLeafHashes,
  rootFromNodes,
  rangeNodes,
  inclusionProofNodes,
  consistencyProofNodes,
  rehashProof,
  inclusionProof,
  consistencyProof,
  inclusionProofAsync,
  consistencyProofAsync,
  CompactRange,
  InMemoryMerkleTree,
} from './tree.js';
export {
  type MerkleProofErrorKind,
  type MerkleProofError,
  type VerifyResult,
  type RootResult,
  verifyInclusion,
  verifyConsistency,
  rootFromInclusionProof,
  rootFromConsistencyProof,
} from './verify.js';
export {
  type ProofKind,
  type InclusionProofDocument,
  type ConsistencyProofDocument,
  type ParsedInclusionProof,
  type ParsedConsistencyProof,
  type ParsedProof,
  type ParseProofResult,
  type ProofDocumentResult,
  detectProofKind,
  parseProofDocument,
  verifyProofDocument,
  verifyProofDocumentText,
  toInclusionProofDocument,
  toConsistencyProofDocument,
} from './vectors.js';
