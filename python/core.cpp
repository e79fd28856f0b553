// hubgate._core: the thin binding of the loader core (src/loader/loader.hpp). Tensors come out
// as DLPack capsules of flat uint8 vectors that own their aligned buffer (freed by the
// consumer's deleter when the last view dies); hubgate/__init__.py hands them to torch or numpy
// without a copy and gives them dtype and shape. Blocking calls release the GIL.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "loader/loader.hpp"

namespace nb = nanobind;
using namespace hubgate;

namespace {

struct LoaderError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct IntegrityError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void raise(const Error& e) {
  if (e.code == Errc::corrupt) throw IntegrityError(e.message);
  throw LoaderError(e.message);
}

struct PyStream {
  std::unique_ptr<loader::Stream> s;

  loader::Stream& get() {
    if (!s) throw LoaderError("the stream is closed");
    return *s;
  }
};

using Bytes = nb::ndarray<std::uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

}  // namespace

NB_MODULE(_core, m) {
  auto base = nb::exception<LoaderError>(m, "LoaderError", PyExc_RuntimeError);
  nb::exception<IntegrityError>(m, "IntegrityError", base.ptr());

  nb::class_<PyStream>(m, "Stream")
      .def_prop_ro("commit", [](PyStream& p) { return p.get().commit(); })
      .def("files", [](PyStream& p) {
        nb::list out;
        for (const auto& f : p.get().files()) {
          nb::dict meta;
          for (const auto& [k, v] : f.layout.metadata) meta[nb::str(k.c_str())] = nb::str(v.c_str());
          nb::dict d;
          d["path"] = f.path;
          d["size"] = f.size;
          d["sha256"] = f.sha256;
          d["git_sha1"] = f.git_sha1;
          d["metadata"] = meta;
          out.append(d);
        }
        return out;
      })
      .def("tensors", [](PyStream& p) {
        nb::list out;
        for (const auto& t : p.get().tensors()) {
          nb::list shape;
          for (auto x : t.shape) shape.append(x);
          out.append(nb::make_tuple(t.name, t.file, t.dtype, nb::tuple(shape), t.nbytes));
        }
        return out;
      })
      .def("next", [](PyStream& p) -> nb::object {
        loader::Stream& s = p.get();
        Result<std::optional<loader::Tensor>> r;
        {
          nb::gil_scoped_release unlocked;
          r = s.next();
        }
        if (!r) raise(r.error());
        if (!*r) return nb::none();
        loader::Tensor& t = **r;
        std::size_t index = static_cast<std::size_t>(t.info - s.tensors().data());
        std::size_t n = t.info->nbytes;
        std::uint8_t* data = t.bytes.release();
        nb::capsule owner(data, [](void* q) noexcept { loader::free_buffer(q); });
        Bytes arr(data, {n}, owner);
        return nb::make_tuple(index, nb::cast(arr));
      })
      .def("stats", [](PyStream& p) {
        nb::list out;
        for (const auto& st : p.get().stats()) {
          nb::dict d;
          d["bytes"] = st.bytes;
          d["first_request_s"] = st.first_request_s;
          d["done_s"] = st.done_s;
          d["verified"] = st.verified;
          out.append(d);
        }
        return out;
      })
      .def_prop_ro("peak_inflight_bytes", [](PyStream& p) { return p.get().peak_inflight_bytes(); })
      .def("close", [](PyStream& p) {
        nb::gil_scoped_release unlocked;
        p.s.reset();
      });

  m.def(
      "open",
      [](std::string endpoint, std::string repo_id, std::string revision, std::vector<std::string> filenames,
         std::string token, std::string repo_type, unsigned connections, std::uint64_t ring_bytes,
         std::uint64_t request_bytes, bool verify) {
        loader::Options o;
        o.endpoint = std::move(endpoint);
        o.repo_id = std::move(repo_id);
        o.revision = std::move(revision);
        o.filenames = std::move(filenames);
        o.token = std::move(token);
        o.repo_type = std::move(repo_type);
        o.connections = connections;
        o.ring_bytes = ring_bytes;
        o.request_bytes = request_bytes;
        o.verify = verify;
        Result<std::unique_ptr<loader::Stream>> r;
        {
          nb::gil_scoped_release unlocked;
          r = loader::Stream::open(o);
        }
        if (!r) raise(r.error());
        return new PyStream{std::move(*r)};
      },
      nb::arg("endpoint"), nb::arg("repo_id"), nb::arg("revision"), nb::arg("filenames"), nb::arg("token"),
      nb::arg("repo_type"), nb::arg("connections"), nb::arg("ring_bytes"), nb::arg("request_bytes"),
      nb::arg("verify"), nb::rv_policy::take_ownership);
}
