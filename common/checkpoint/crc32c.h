// CRC32C (Castagnoli, reflected polynomial 0x82F63B78, as in iSCSI, ext4 and
// gRPC), computed in software with slicing-by-8 tables (about 1-2 GB/s per
// core). Checkpoint manifests record it per file. Not here: the SSE4.2 / ARMv8
// instructions (a later speed-up; the values are identical).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace spindle::checkpoint {

// CRC32C of `bytes` bytes at data; Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(const void* data, size_t bytes);
inline uint32_t Crc32c(std::string_view text) { return Crc32c(text.data(), text.size()); }

// Continues a CRC over more data: Crc32cExtend(Crc32c(a), b) == Crc32c(a + b).
// Start from 0 for an empty prefix.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t bytes);

}  // namespace spindle::checkpoint
