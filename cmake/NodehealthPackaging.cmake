# Installation extras and the Debian package (CPack DEB).
#
#   cmake --install build --prefix /tmp/x        # the same files as the package, under /tmp/x
#   cpack --config build/CPackConfig.cmake -B build   # or: cmake --build build --target package
#
# The package holds exactly what the install() rules of the subdirectories install (nodehealth,
# nodehealth-allreduce, the profiles, the systemd units, the alert rules) plus the example config
# below. Test binaries, the fake NVML, fixtures and benchmarks have no install() rule and so never
# reach it; tests/package/package_test.sh checks the listing and installs the package on a clean
# Debian 12 root.

# The example config: every key agent/config/config.cc accepts, commented out at its default. Installed as
# documentation, not as /etc/nodehealth/nodehealth.toml: the defaults need no file, and a conffile
# shipped by the package would turn every local edit into a dpkg prompt on upgrade.
install(FILES ${CMAKE_SOURCE_DIR}/agent/nodehealth.example.toml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples RENAME nodehealth.toml)

# Package metadata -------------------------------------------------------------------------------
set(NODEHEALTH_PACKAGE_MAINTAINER
    "nodehealth maintainers <maintainers@users.noreply.h-seed-b1bafc29.example>"
    CACHE STRING "Maintainer field of the Debian package (Name <email>)")
set(NODEHEALTH_PACKAGE_HOMEPAGE ""
    CACHE STRING "Homepage field of the Debian package (left out when empty)")

# Debian's documentation files: the machine-readable copyright file (Apache-2.0), the upstream
# changelog (CHANGELOG.md) as changelog.gz and a Debian changelog as changelog.Debian.gz, both
# compressed with gzip as Debian policy 12.7 asks (CMake's archive writer, no gzip binary needed).
install(FILES ${CMAKE_SOURCE_DIR}/packaging/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
set(_nodehealth_doc_build_dir ${CMAKE_BINARY_DIR}/packaging-doc)
configure_file(${CMAKE_SOURCE_DIR}/packaging/debian/changelog.in
               ${_nodehealth_doc_build_dir}/changelog.Debian @ONLY)
configure_file(${CMAKE_SOURCE_DIR}/CHANGELOG.md ${_nodehealth_doc_build_dir}/changelog COPYONLY)
foreach(_nodehealth_changelog changelog changelog.Debian)
  file(ARCHIVE_CREATE OUTPUT ${_nodehealth_doc_build_dir}/${_nodehealth_changelog}.gz
       PATHS ${_nodehealth_doc_build_dir}/${_nodehealth_changelog} FORMAT raw COMPRESSION GZip
       MTIME 0)
  install(FILES ${_nodehealth_doc_build_dir}/${_nodehealth_changelog}.gz
          DESTINATION ${CMAKE_INSTALL_DOCDIR})
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME nodehealth)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${NODEHEALTH_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "GPU cluster node health checks, burn-in and drain agent")
# The extended description, wrapped for `apt show` (CPack indents each line; a line holding only
# "." is a paragraph break in Debian's format).
string(JOIN "\n" CPACK_PACKAGE_DESCRIPTION
  "nodehealth tells whether a GPU cluster node is fit to run jobs and shows the"
  "evidence: GPUs missing or fallen off the bus, driver and CUDA mismatches,"
  "uncorrectable memory errors, degraded PCIe and NVLink links, XID errors,"
  "InfiniBand ports down, slow or flapping, GPU/HCA topology mistakes, and RDMA"
  "or MPI all-reduce bandwidth below the node profile's floor."
  "."
  "It runs once (nodehealth check, nodehealth burnin) or as a daemon (nodehealth"
  "agent) that exports Prometheus metrics and decides when a node should be"
  "drained. The NVIDIA driver's NVML library is loaded at run time: without it"
  "the GPU probes are skipped.")
# /usr, not CMAKE_INSTALL_PREFIX (/usr/local by default): files of a Debian package belong to /usr.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Debug info makes nodehealth ~55 MB; the package ships stripped binaries like any Debian package.
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_NAME nodehealth)
set(CPACK_DEBIAN_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # nodehealth_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${NODEHEALTH_PACKAGE_MAINTAINER}")
if(NODEHEALTH_PACKAGE_HOMEPAGE)
  set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${NODEHEALTH_PACKAGE_HOMEPAGE}")
endif()
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)  # dpkg-deb's own default

# Dependencies -------------------------------------------------------------------------------------
# dpkg-shlibdeps derives the library packages from the binaries' DT_NEEDED entries (libspdlog,
# libfmt, libtomlplusplus, libibverbs1, libhwloc15, libprometheus-cpp-core, libssl3, zlib1g,
# libcrypt1, libyaml-cpp0.7, libopenmpi3, ...),
# with the minimum versions of the symbols actually used.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# What the binaries run rather than link, which dpkg-shlibdeps cannot see:
# * openmpi-bin: `mpirun`, through which `nodehealth burnin` (the mpi_allreduce probe) starts
#   nodehealth-allreduce outside a Slurm job. A Depends, not a Recommends: without mpirun the probe
#   skips ("cannot start mpirun"), so on a node installed without recommends the burn-in that
#   gates slurmd would pass without ever testing MPI. nodehealth-allreduce, which the package
#   ships, is of no use without a launcher either.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "openmpi-bin")
# * ibverbs-providers: libibverbs' user-space HCA drivers (mlx5, ...); without them libibverbs
#   lists no device and rdma_loopback skips, or fails when the profile expects InfiniBand. A node
#   without RDMA hardware does not need them, so a Recommends, as libibverbs1 itself declares.
#   (Open MPI's libfabric1 and libucx0 depend on them, so today they are installed anyway; the
#   Recommends records nodehealth's own need should that change.)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ibverbs-providers")
# * slurm-client: scontrol, which `nodehealth slurm-healthcheck` (and the deep-check timer's
#   condition) uses to read and drain the node; only Slurm nodes need it.
# * hwloc (lstopo), infiniband-diags (ibstat, perfquery), perftest (ib_write_bw): the tools to
#   compare nodehealth's topology, port and RDMA findings with. prometheus-node-exporter: its
#   textfile collector publishes `nodehealth burnin --textfile`.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "slurm-client, hwloc, infiniband-diags, perftest, prometheus-node-exporter")
# Deliberately not dependencies:
# * libnvidia-ml.so.1 and libcuda.so.1 come with the NVIDIA driver (its own packages, or a .run
#   install that no package sees) and are dlopen()ed at run time: without them nodehealth runs
#   observe-only on the GPU side. Depending on a driver package would pin one driver flavour.
# * libhwloc-plugins: the topology probe blacklists hwloc's pci component and discovers PCI devices
#   through hwloc's Linux sysfs backend, which is in libhwloc15.

# Maintainer scripts ----------------------------------------------------------------------------
# Only `systemctl daemon-reload`, so that systemd sees new or changed unit files, and only when
# systemd is the running init (not in a chroot or container build). No unit is enabled, started,
# restarted or stopped here: nodehealth-burnin is RequiredBy slurmd, so enabling it gates Slurm on
# the burn-in, and stopping it on removal would stop slurmd too; the agent's listen address and
# profile need a decision first. Both are the administrator's explicit choice (docs/install.md).
set(_nodehealth_debian_dir ${CMAKE_BINARY_DIR}/debian)
file(WRITE ${_nodehealth_debian_dir}/postinst [=[#!/bin/sh
# nodehealth: let systemd see new or changed unit files. Enables and starts nothing (see
# cmake/NodehealthPackaging.cmake for why).
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
exit 0
]=])
file(WRITE ${_nodehealth_debian_dir}/postrm [=[#!/bin/sh
# nodehealth: forget the removed unit files. Stops nothing; state in /var/lib/nodehealth (written
# by the agent, not by the package) is left to the administrator.
set -e
case "$1" in
  remove|purge)
    if [ -d /run/systemd/system ]; then
      systemctl --system daemon-reload >/dev/null || true
    fi
    ;;
esac
exit 0
]=])
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_nodehealth_debian_dir}/postinst ${_nodehealth_debian_dir}/postrm)
# Maintainer scripts 0755 and control files 0644 whatever the build tree's umask.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# Write the CPACK_ variables into CPackConfig.cmake as they are set here (the regular expressions
# below keep their backslashes).
set(CPACK_VERBATIM_VARIABLES ON)
# `package_source` would otherwise archive every build tree beside the sources.
set(CPACK_SOURCE_GENERATOR TXZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\.git/" "/build[^/]*/")

include(CPack)
