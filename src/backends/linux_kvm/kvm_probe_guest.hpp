#pragma once
// The probe VM's guest (kvm_probe.cpp): its memory layout, the 64-bit ring-0
// code it runs, and the control-register bits that put it in long mode.
#include <cstdint>

namespace microagent::linux_kvm::probe_guest {

// Guest physical memory is one 64 KiB slot at 0, laid out as below. The vCPU
// starts directly in 64-bit long mode (as kvm-hello-world's long mode does):
// 4-level paging with one 2 MiB page identity-mapping 0..2 MiB, a flat GDT
// whose entry 1 is a 64-bit ring-0 code segment (L=1, D=0) and entry 2 a data
// segment, CR0.PE|PG, CR4.PAE, EFER.LME|LMA (Intel SDM vol. 3A 9.8.5, 4.5).
constexpr std::uint64_t kMemSize = 0x10000;
constexpr std::uint64_t kGdt = 0x0500;
constexpr std::uint64_t kPml4 = 0x1000;
constexpr std::uint64_t kPdpt = 0x2000;
constexpr std::uint64_t kPd = 0x3000;
constexpr std::uint64_t kCode = 0x4000;
constexpr std::uint64_t kScratch = 0x6000;  // 16-aligned for cmpxchg16b; xsave area at +0x1000
constexpr std::uint64_t kStackTop = 0xF000;

constexpr std::uint16_t kMarkerPort = 0xE9;  // `out 0xE9, al`: any port without an in-kernel device exits to us
constexpr std::uint8_t kMarkerDone = 0xAA;
constexpr std::uint8_t kMarkerBadValue = 0xEE;

// Assembled with GNU as (--64, intel syntax) from the listing in the comments.
// Entry: rdi = kScratch, rsi = 1 when XSAVE is exercised. After each step the
// guest writes the step number to kMarkerPort, so a failure names the step.
constexpr std::uint8_t kGuestCode[] = {
    0x0f, 0x20, 0xd8,                          // mov rax, cr3
    0x0f, 0x22, 0xd8,                          // mov cr3, rax
    0x0f, 0x20, 0xc0,                          // mov rax, cr0
    0x0f, 0x22, 0xc0,                          // mov cr0, rax
    0x0f, 0x20, 0xe0,                          // mov rax, cr4
    0x0f, 0x22, 0xe0,                          // mov cr4, rax
    0xb0, 0x01, 0xe6, 0xe9,                    // mov al, 1; out 0xe9, al
    0x31, 0xc0,                                // xor eax, eax     (expect 0:0 in [rdi])
    0x31, 0xd2,                                // xor edx, edx
    0xbb, 0x01, 0x00, 0x00, 0x00,              // mov ebx, 1       (store 2:1)
    0xb9, 0x02, 0x00, 0x00, 0x00,              // mov ecx, 2
    0xf0, 0x48, 0x0f, 0xc7, 0x0f,              // lock cmpxchg16b [rdi]
    0x75, 0x5b,                                // jnz fail
    0xb0, 0x02, 0xe6, 0xe9,                    // mov al, 2; out 0xe9, al
    0xdb, 0xe3,                                // fninit
    0x9b,                                      // fwait
    0xb0, 0x03, 0xe6, 0xe9,                    // mov al, 3; out 0xe9, al
    0x85, 0xf6,                                // test esi, esi
    0x74, 0x26,                                // jz no_xsave
    0x31, 0xc9,                                // xor ecx, ecx
    0x0f, 0x01, 0xd0,                          // xgetbv
    0xb8, 0x03, 0x00, 0x00, 0x00,              // mov eax, 3       (XCR0 = x87|SSE)
    0x31, 0xd2,                                // xor edx, edx
    0x31, 0xc9,                                // xor ecx, ecx
    0x0f, 0x01, 0xd1,                          // xsetbv
    0xb8, 0x03, 0x00, 0x00, 0x00,              // mov eax, 3       (components to save)
    0x31, 0xd2,                                // xor edx, edx
    0x0f, 0xae, 0xa7, 0x00, 0x10, 0x00, 0x00,  // xsave [rdi+0x1000]
    0x0f, 0xae, 0xaf, 0x00, 0x10, 0x00, 0x00,  // xrstor [rdi+0x1000]
    0xb0, 0x04, 0xe6, 0xe9,                    // no_xsave: mov al, 4; out 0xe9, al
    0xb9, 0x02, 0x01, 0x00, 0xc0,              // mov ecx, 0xc0000102 (IA32_KERNEL_GS_BASE)
    0xb8, 0x78, 0x56, 0x34, 0x12,              // mov eax, 0x12345678
    0x31, 0xd2,                                // xor edx, edx
    0x0f, 0x30,                                // wrmsr
    0x31, 0xc0,                                // xor eax, eax
    0x0f, 0x32,                                // rdmsr
    0x3d, 0x78, 0x56, 0x34, 0x12,              // cmp eax, 0x12345678
    0x75, 0x09,                                // jne fail
    0xb0, 0x05, 0xe6, 0xe9,                    // mov al, 5; out 0xe9, al
    0xb0, 0xaa, 0xe6, 0xe9,                    // mov al, 0xaa; out 0xe9, al   (done)
    0xf4,                                      // hlt
    0xb0, 0xee, 0xe6, 0xe9,                    // fail: mov al, 0xee; out 0xe9, al
    0xf4,                                      // hlt
};
static_assert(sizeof(kGuestCode) == 0x8b, "offsets in the jumps above assume this length");

// What the guest is doing after it wrote marker N (index) and before N+1.
constexpr const char* kStepAfterMarker[] = {
    "mov to/from cr0/cr3/cr4", "cmpxchg16b", "fninit/fwait", "xgetbv/xsetbv/xsave/xrstor",
    "wrmsr/rdmsr",             "the final marker",
};

constexpr std::uint64_t kCr0Pe = 1u << 0, kCr0Mp = 1u << 1, kCr0Et = 1u << 4, kCr0Ne = 1u << 5,
                        kCr0Pg = 1u << 31;
constexpr std::uint64_t kCr4Pae = 1u << 5, kCr4Osfxsr = 1u << 9, kCr4Osxmmexcpt = 1u << 10,
                        kCr4Osxsave = 1u << 18;
constexpr std::uint64_t kEferLme = 1u << 8, kEferLma = 1u << 10;
constexpr std::uint64_t kPteP = 1u << 0, kPteRw = 1u << 1, kPtePs = 1u << 7;

}  // namespace microagent::linux_kvm::probe_guest
