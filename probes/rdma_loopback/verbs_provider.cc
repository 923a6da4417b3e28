#include "probes/rdma_loopback/verbs_provider.h"

#include <infiniband/verbs.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "probes/rdma_loopback/cuda_memory.h"

namespace nodehealth::rdma {
namespace {

Error CallFailed(const std::string& call, int err) {
  return MakeError(call + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")", err);
}

// mbind(2) without libnuma: MPOL_PREFERRED keeps the allocation working when the node is full.
void PreferNode(void* address, std::size_t bytes, int node) {
  constexpr int kMpolPreferred = 1;
  if (node < 0 || node >= 1024) return;
  unsigned long mask[1024 / (8 * sizeof(unsigned long))] = {};
  mask[node / (8 * sizeof(unsigned long))] = 1ul << (node % (8 * sizeof(unsigned long)));
  // Best effort: a kernel without NUMA support answers ENOSYS and the pages land anywhere.
  ::syscall(SYS_mbind, address, bytes, kMpolPreferred, mask, sizeof(mask) * 8 + 1, 0);
}

class VerbsLoopbackPair final : public LoopbackPair {
 public:
  ~VerbsLoopbackPair() override {
    for (ibv_qp* qp : {qp_b_, qp_a_}) {
      if (qp != nullptr) ibv_destroy_qp(qp);
    }
    for (ibv_mr* mr : {dst_mr_, src_mr_}) {
      if (mr != nullptr) ibv_dereg_mr(mr);
    }
    if (cq_ != nullptr) ibv_destroy_cq(cq_);
    if (pd_ != nullptr) ibv_dealloc_pd(pd_);
    if (context_ != nullptr) ibv_close_device(context_);
    for (void* buffer : {src_, dst_}) {
      if (buffer != nullptr) ::munmap(buffer, bytes_);
    }
    if (cuda_ && gpu_.dmabuf_fd >= 0) cuda_->Free(gpu_);
  }

  Expected<bool> Connect(const LoopbackConfig& config, CudaMemory* cuda) {
    config_ = config;
    bytes_ = config.buffer_bytes;
    if (Expected<bool> ok = OpenDevice(); !ok) return ok;
    if (Expected<bool> ok = AllocateBuffers(cuda); !ok) return ok;
    pd_ = ibv_alloc_pd(context_);
    if (pd_ == nullptr) return CallFailed("ibv_alloc_pd", errno);
    cq_ = ibv_create_cq(context_, config.depth * 2 + 16, nullptr, nullptr, 0);
    if (cq_ == nullptr) return CallFailed("ibv_create_cq", errno);
    // The flags as an int: verbs.h's ibv_reg_mr macro ANDs them with an enum of another type,
    // which C++20 deprecates (clang: -Wdeprecated-enum-enum-conversion).
    const int source_access = IBV_ACCESS_LOCAL_WRITE;
    src_mr_ = ibv_reg_mr(pd_, src_, bytes_, source_access);
    if (src_mr_ == nullptr) return CallFailed("ibv_reg_mr(source)", errno);
    const int target_access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
    if (config.memory == Memory::kGpu) {
      dst_mr_ =
          ibv_reg_dmabuf_mr(pd_, 0, bytes_, gpu_.device_pointer, gpu_.dmabuf_fd, target_access);
      if (dst_mr_ == nullptr) return CallFailed("ibv_reg_dmabuf_mr(GPU target)", errno);
      target_address_ = gpu_.device_pointer;
    } else {
      dst_mr_ = ibv_reg_mr(pd_, dst_, bytes_, target_access);
      if (dst_mr_ == nullptr) return CallFailed("ibv_reg_mr(target)", errno);
      target_address_ = reinterpret_cast<uint64_t>(dst_);
    }
    ibv_qp_init_attr init = {};
    init.send_cq = cq_;
    init.recv_cq = cq_;
    init.cap.max_send_wr = static_cast<uint32_t>(config.depth);
    init.cap.max_recv_wr = 1;
    init.cap.max_send_sge = 1;
    init.cap.max_recv_sge = 1;
    init.qp_type = IBV_QPT_RC;
    qp_a_ = ibv_create_qp(pd_, &init);
    if (qp_a_ == nullptr) return CallFailed("ibv_create_qp", errno);
    qp_b_ = ibv_create_qp(pd_, &init);
    if (qp_b_ == nullptr) return CallFailed("ibv_create_qp", errno);
    if (Expected<bool> ok = ChooseAddress(); !ok) return ok;
    for (auto [qp, peer] : {std::pair{qp_a_, qp_b_}, std::pair{qp_b_, qp_a_}}) {
      if (Expected<bool> ok = BringUp(qp, peer->qp_num); !ok) return ok;
    }
    return true;
  }

  Expected<bool> PostWrite(uint64_t bytes) override {
    ibv_sge sge = {};
    sge.addr = reinterpret_cast<uint64_t>(src_);
    sge.length = static_cast<uint32_t>(bytes);
    sge.lkey = src_mr_->lkey;
    ibv_send_wr wr = {};
    ibv_send_wr* bad = nullptr;
    wr.wr_id = ++posted_;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.opcode = IBV_WR_RDMA_WRITE;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.wr.rdma.remote_addr = target_address_;
    wr.wr.rdma.rkey = dst_mr_->rkey;
    if (int rc = ibv_post_send(qp_a_, &wr, &bad); rc != 0) return CallFailed("ibv_post_send", rc);
    return true;
  }

  Expected<int> Poll(int max) override {
    ibv_wc completions[64];
    const int n = ibv_poll_cq(cq_, max < 64 ? max : 64, completions);
    if (n < 0) return CallFailed("ibv_poll_cq", EIO);
    for (int i = 0; i < n; ++i) {
      if (completions[i].status != IBV_WC_SUCCESS) {
        return MakeError(std::string("work completion: ") +
                             ibv_wc_status_str(completions[i].status) + " (status " +
                             std::to_string(completions[i].status) + ", vendor error " +
                             std::to_string(completions[i].vendor_err) + ")",
                         EIO);
      }
    }
    return n;
  }

  std::string Addressing() const override { return addressing_; }

 private:
  Expected<bool> OpenDevice() {
    int count = 0;
    ibv_device** list = ibv_get_device_list(&count);
    if (list == nullptr) return CallFailed("ibv_get_device_list", errno);
    for (int i = 0; i < count && context_ == nullptr; ++i) {
      if (config_.device == ibv_get_device_name(list[i])) {
        context_ = ibv_open_device(list[i]);
        if (context_ == nullptr) {
          const int err = errno;
          ibv_free_device_list(list);
          return CallFailed("ibv_open_device(" + config_.device + ")", err);
        }
      }
    }
    ibv_free_device_list(list);
    if (context_ == nullptr) {
      return MakeError("ibv_get_device_list: " + config_.device + " is not listed", ENODEV);
    }
    if (int rc = ibv_query_port(context_, static_cast<uint8_t>(config_.port), &port_); rc != 0) {
      return CallFailed("ibv_query_port", rc);
    }
    if (port_.state != IBV_PORT_ACTIVE) {
      return MakeError(std::string("ibv_query_port: port is ") + ibv_port_state_str(port_.state) +
                           ", not ACTIVE",
                       ENETDOWN);
    }
    return true;
  }

  Expected<bool> AllocateBuffers(CudaMemory* cuda) {
    for (void** buffer : {&src_, &dst_}) {
      if (buffer == &dst_ && config_.memory == Memory::kGpu) break;
      void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) return CallFailed("mmap", errno);
      *buffer = p;
      if (config_.numa_node) PreferNode(p, bytes_, *config_.numa_node);
      std::memset(p, 0x5a, bytes_);  // first touch: pages are placed now, not during the timing
    }
    if (config_.memory == Memory::kGpu) {
      if (cuda == nullptr) return MakeError("GPU memory requested without CUDA", ENOSYS);
      Expected<GpuBuffer> gpu = cuda->Allocate(config_.gpu_ordinal, bytes_);
      if (!gpu) return gpu.error();
      gpu_ = *gpu;
      cuda_ = cuda;
    }
    return true;
  }

  Expected<bool> ChooseAddress() {
    if (port_.link_layer != IBV_LINK_LAYER_ETHERNET) {
      char lid[16];
      std::snprintf(lid, sizeof lid, "0x%x", port_.lid);
      addressing_ = std::string("InfiniBand LID ") + lid;
      return true;
    }
    std::vector<ibv_gid_entry> entries(static_cast<std::size_t>(port_.gid_tbl_len) + 1);
    const ssize_t n = ibv_query_gid_table(context_, entries.data(), entries.size(), 0);
    if (n < 0) return CallFailed("ibv_query_gid_table", static_cast<int>(-n));
    std::vector<GidEntry> table;
    for (ssize_t i = 0; i < n; ++i) {
      GidEntry entry;
      entry.index = static_cast<int>(entries[i].gid_index);
      entry.port = static_cast<int>(entries[i].port_num);
      std::memcpy(entry.gid.data(), entries[i].gid.raw, 16);
      entry.type = entries[i].gid_type == IBV_GID_TYPE_ROCE_V2   ? GidEntry::Type::kRoceV2
                   : entries[i].gid_type == IBV_GID_TYPE_ROCE_V1 ? GidEntry::Type::kRoceV1
                                                                 : GidEntry::Type::kInfiniband;
      table.push_back(entry);
    }
    std::optional<GidEntry> chosen = ChooseRoceV2Gid(table, config_.port);
    if (!chosen) {
      return MakeError("ibv_query_gid_table: no RoCE v2 GID on port " +
                           std::to_string(config_.port) + " (no IP address on its netdev?)",
                       ENOENT);
    }
    gid_ = *chosen;
    roce_ = true;
    addressing_ = "RoCE v2 GID index " + std::to_string(gid_.index);
    return true;
  }

  Expected<bool> BringUp(ibv_qp* qp, uint32_t peer_qpn) {
    ibv_qp_attr attr = {};
    attr.qp_state = IBV_QPS_INIT;
    attr.pkey_index = 0;
    attr.port_num = static_cast<uint8_t>(config_.port);
    attr.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
    if (int rc = ibv_modify_qp(
            qp, &attr, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
        rc != 0) {
      return CallFailed("ibv_modify_qp(INIT)", rc);
    }
    attr = {};
    attr.qp_state = IBV_QPS_RTR;
    attr.path_mtu = port_.active_mtu;
    attr.dest_qp_num = peer_qpn;
    attr.rq_psn = 0;
    attr.max_dest_rd_atomic = 1;
    attr.min_rnr_timer = 12;
    attr.ah_attr.port_num = static_cast<uint8_t>(config_.port);
    attr.ah_attr.dlid = port_.lid;
    if (roce_) {
      attr.ah_attr.is_global = 1;
      std::memcpy(attr.ah_attr.grh.dgid.raw, gid_.gid.data(), 16);
      attr.ah_attr.grh.sgid_index = static_cast<uint8_t>(gid_.index);
      attr.ah_attr.grh.hop_limit = 1;
    }
    if (int rc =
            ibv_modify_qp(qp, &attr,
                          IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
                              IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
        rc != 0) {
      return CallFailed("ibv_modify_qp(RTR)", rc);
    }
    attr = {};
    attr.qp_state = IBV_QPS_RTS;
    attr.timeout = 14;
    attr.retry_cnt = 7;
    attr.rnr_retry = 7;
    attr.sq_psn = 0;
    attr.max_rd_atomic = 1;
    if (int rc = ibv_modify_qp(qp, &attr,
                               IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
                                   IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
        rc != 0) {
      return CallFailed("ibv_modify_qp(RTS)", rc);
    }
    return true;
  }

  LoopbackConfig config_;
  uint64_t bytes_ = 0;
  ibv_context* context_ = nullptr;
  ibv_port_attr port_ = {};
  ibv_pd* pd_ = nullptr;
  ibv_cq* cq_ = nullptr;
  ibv_mr* src_mr_ = nullptr;
  ibv_mr* dst_mr_ = nullptr;
  ibv_qp* qp_a_ = nullptr;
  ibv_qp* qp_b_ = nullptr;
  void* src_ = nullptr;
  void* dst_ = nullptr;
  uint64_t target_address_ = 0;
  uint64_t posted_ = 0;
  bool roce_ = false;
  GidEntry gid_;
  std::string addressing_;
  CudaMemory* cuda_ = nullptr;
  GpuBuffer gpu_;
};

class VerbsProvider final : public Provider {
 public:
  Expected<std::vector<std::string>> ListDevices() override {
    int count = 0;
    errno = 0;
    ibv_device** list = ibv_get_device_list(&count);
    if (list == nullptr) return CallFailed("ibv_get_device_list", errno != 0 ? errno : ENOSYS);
    std::vector<std::string> names;
    for (int i = 0; i < count; ++i) names.emplace_back(ibv_get_device_name(list[i]));
    ibv_free_device_list(list);
    return names;
  }

  Expected<int> GpuDirectDevices() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!cuda_ && !cuda_error_) {
      Expected<std::unique_ptr<CudaMemory>> cuda = CudaMemory::Open();
      if (cuda) {
        cuda_ = std::move(*cuda);
      } else {
        cuda_error_ = cuda.error();
      }
    }
    if (cuda_error_) return *cuda_error_;
    if (cuda_->DmabufCapableDevices() == 0) {
      return MakeError("no CUDA device reports dma-buf support (driver or kernel too old)", ENOSYS);
    }
    return cuda_->DmabufCapableDevices();
  }

  Expected<int> GpuOrdinal(const std::string& pci_bus_id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!cuda_) return MakeError("CUDA is not loaded", ENOSYS);
    return cuda_->OrdinalOf(pci_bus_id);
  }

  Expected<std::unique_ptr<LoopbackPair>> Connect(const LoopbackConfig& config) override {
    auto pair = std::make_unique<VerbsLoopbackPair>();
    Expected<bool> ok = pair->Connect(config, cuda_.get());
    if (!ok) return ok.error();
    return std::unique_ptr<LoopbackPair>(std::move(pair));
  }

 private:
  std::mutex mutex_;
  std::unique_ptr<CudaMemory> cuda_;
  std::optional<Error> cuda_error_;
};

}  // namespace

std::unique_ptr<Provider> MakeVerbsProvider() { return std::make_unique<VerbsProvider>(); }

}  // namespace nodehealth::rdma
