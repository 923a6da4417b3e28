// Normalize<T>: a type as the C calling convention passes it, for comparing nodehealth's
// declarations of vendor entry points (probes/platform/cuda_driver_abi.h, nccl_abi.h) with the
// vendor's headers (tests/abi/*_abi_check.cc).
//
// nodehealth declares the vendors' enum types (CUresult, CUdevice_attribute, ncclResult_t,
// ncclDataType_t, ncclRedOp_t) as `int`, so that its headers need no vendor header. C passes and
// returns an enum as its underlying integer type, which for these enums is a 4-byte integer (GCC
// and clang choose `unsigned int` for CUresult, whose enumerators are all non-negative), so on the
// ABIs nodehealth runs on (x86-64 and AArch64 System V) such an enum travels exactly as an `int`
// does. Normalize therefore maps every enum of the size of int to int, also behind pointers
// (ncclResult_t* asyncError) and inside function types; an enum of another size fails to compile.
// Every other type stays as it is: `unsigned int` and `int` still differ, as do pointers to
// different structs, so any other mismatch still fails the check.
#pragma once

#include <type_traits>

namespace nodehealth::abi_check {

template <class T>
struct NormalizeImpl {
  using type = T;
};

template <class T>
requires(std::is_enum_v<T> && !std::is_const_v<T>) struct NormalizeImpl<T> {
  static_assert(sizeof(T) == sizeof(int), "an enum not of the size of int is not passed as int");
  using type = int;
};

template <class T>
struct NormalizeImpl<const T> {
  using type = const typename NormalizeImpl<T>::type;
};

template <class T>
struct NormalizeImpl<T*> {
  using type = typename NormalizeImpl<T>::type*;
};

template <class R, class... Args>
struct NormalizeImpl<R(Args...)> {
  using type = typename NormalizeImpl<R>::type(typename NormalizeImpl<Args>::type...);
};

template <class T>
using Normalize = typename NormalizeImpl<T>::type;

// The trait's own checks.
enum class FourBytes : unsigned int { kA };
static_assert(std::is_same_v<Normalize<FourBytes>, int>);
static_assert(std::is_same_v<Normalize<const FourBytes*>, const int*>);
static_assert(std::is_same_v<Normalize<FourBytes (*)(FourBytes*, unsigned int)>,
                             int (*)(int*, unsigned int)>);
static_assert(!std::is_same_v<Normalize<int (*)(unsigned int)>, Normalize<int (*)(int)>>);

}  // namespace nodehealth::abi_check

// ours: a function pointer type of nodehealth's ABI header; theirs: the vendor's function.
#define NODEHEALTH_SAME_SIGNATURE(ours, theirs)                                        \
  static_assert(std::is_same_v<::nodehealth::abi_check::Normalize<ours>,               \
                               ::nodehealth::abi_check::Normalize<decltype(&theirs)>>, \
                #ours " is not the signature of the vendor's " #theirs)

// ours: a constant of nodehealth's ABI header; theirs: the vendor's enumerator or macro.
#define NODEHEALTH_SAME_VALUE(ours, theirs)                                     \
  static_assert(static_cast<long long>(ours) == static_cast<long long>(theirs), \
                #ours " is not the vendor's " #theirs)
