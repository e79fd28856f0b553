// Grading of pickle globals. Three tables: the allowlist (exact `module.name`), dangerous
// modules (prefix match on the module path, so submodules inherit), dangerous qualified names
// (prefix match on `module.name[.attr...]`). A dotted `name` is resolved by the unpickler
// attribute by attribute, so every component is judged: a component that names a dangerous
// module or a dunder attribute makes the global dangerous; any other dotted name not on the
// allowlist stays suspicious.
#include "scan/pickle_rules.hpp"

#include <array>
#include <unordered_set>

namespace hubgate::scan::pickle {
namespace {

const std::unordered_set<std::string_view>& allowlist() {
  static const std::unordered_set<std::string_view> s = {
      // torch tensors, parameters, storages, dtypes, layouts
      "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
      "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
      "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_sparse_csr_tensor",
      "torch._utils._rebuild_qtensor", "torch._utils._rebuild_device_tensor_from_numpy",
      "torch._utils._rebuild_meta_tensor_no_storage", "torch._utils._rebuild_wrapper_subclass",
      "torch._utils._rebuild_nested_tensor", "torch._tensor._rebuild_from_type",
      "torch._tensor._rebuild_from_type_v2", "torch.nn.parameter.Parameter", "torch.Tensor", "torch.Size",
      "torch.device", "torch.storage.TypedStorage", "torch.storage.UntypedStorage", "torch.UntypedStorage",
      "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage",
      "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage",
      "torch.BoolStorage", "torch.ComplexFloatStorage", "torch.ComplexDoubleStorage", "torch.QUInt8Storage",
      "torch.QInt8Storage", "torch.QInt32Storage", "torch.QUInt4x2Storage", "torch.QUInt2x4Storage",
      "torch.cuda.FloatStorage", "torch.cuda.HalfStorage", "torch.cuda.BFloat16Storage", "torch.cuda.DoubleStorage",
      "torch.cuda.LongStorage", "torch.cuda.IntStorage", "torch.cuda.ByteStorage", "torch.cuda.BoolStorage",
      "torch.float32", "torch.float", "torch.float64", "torch.double", "torch.float16", "torch.half",
      "torch.bfloat16", "torch.int8", "torch.uint8", "torch.int16", "torch.short", "torch.int32", "torch.int",
      "torch.int64", "torch.long", "torch.bool", "torch.complex64", "torch.complex128", "torch.cfloat",
      "torch.cdouble", "torch.complex32", "torch.quint8", "torch.qint8", "torch.qint32", "torch.quint4x2",
      "torch.quint2x4", "torch.float8_e4m3fn", "torch.float8_e5m2", "torch.float8_e4m3fnuz",
      "torch.float8_e5m2fnuz", "torch.uint16", "torch.uint32", "torch.uint64",
      "torch.strided", "torch.sparse_coo", "torch.sparse_csr", "torch.sparse_csc", "torch.sparse_bsr",
      "torch.sparse_bsc", "torch._mkldnn", "torch.contiguous_format", "torch.channels_last",
      "torch.channels_last_3d", "torch.preserve_format", "torch.per_tensor_affine", "torch.per_channel_affine",
      "torch.per_tensor_symmetric", "torch.per_channel_symmetric", "torch.per_channel_affine_float_qparams", "torch.serialization._get_layout",
      // TorchScript's pickler (constants.pkl, data.pkl, *.debug_pkl)
      "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_tensorlist", "torch.jit._pickle.build_doublelist",
      "torch.jit._pickle.build_boollist", "torch.jit._pickle.build_complexlist", "torch.jit._pickle.build_tensor_from_id",
      "torch.jit._pickle.restore_type_tag",
      // numpy
      "numpy.core.multiarray._reconstruct", "numpy.core.multiarray.scalar", "numpy._core.multiarray._reconstruct",
      "numpy._core.multiarray.scalar", "numpy.ndarray", "numpy.dtype", "numpy.core.numeric._frombuffer",
      "numpy._core.numeric._frombuffer", "numpy.ma.core._mareconstruct", "numpy.ma.core.MaskedArray",
      "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__generator_ctor",
      "numpy.random._pickle.__bit_generator_ctor", "numpy.random.mtrand._rand",
      "numpy.bool_", "numpy.int8", "numpy.int16", "numpy.int32", "numpy.int64", "numpy.uint8", "numpy.uint16",
      "numpy.uint32", "numpy.uint64", "numpy.float16", "numpy.float32", "numpy.float64", "numpy.complex64",
      "numpy.complex128", "numpy.dtypes.Float32DType", "numpy.dtypes.Float64DType", "numpy.dtypes.Int64DType",
      "numpy.dtypes.Int32DType",
      // joblib's array wrappers (the array bytes follow inline; see pickle_vm.cpp)
      "joblib.numpy_pickle.NumpyArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
      // the standard library's plain data types
      "collections.OrderedDict", "collections.defaultdict", "collections.Counter", "collections.deque",
      "builtins.dict", "builtins.list", "builtins.set", "builtins.frozenset", "builtins.tuple",
      "builtins.bytearray", "builtins.bytes", "builtins.str", "builtins.int", "builtins.float",
      "builtins.complex", "builtins.bool", "builtins.slice", "builtins.range", "builtins.object",
      "builtins.NoneType", "builtins.Ellipsis", "builtins.NotImplemented",
      "copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__", "_codecs.encode",
      "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta", "datetime.timezone",
      "decimal.Decimal", "fractions.Fraction", "uuid.UUID", "argparse.Namespace", "pathlib.PosixPath",
      "pathlib.PurePosixPath", "pathlib.WindowsPath", "pathlib.PureWindowsPath", "pathlib.Path",
  };
  return s;
}

// Modules whose every global is dangerous (submodules inherit).
constexpr std::array kDangerModules = {
    "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "_posixsubprocess", "sys", "runpy", "socket",
    "_socket", "shutil", "pty", "ctypes", "_ctypes", "importlib", "imp", "marshal", "types", "pickle",
    "_pickle", "cPickle", "dill", "cloudpickle", "shelve", "joblib", "pip", "_pip", "setuptools",
    "distutils", "ensurepip", "venv", "webbrowser", "antigravity", "code", "codeop", "commands", "popen2",
    "platform", "pdb", "bdb", "ipdb", "trace", "cProfile", "profile", "_lsprof", "timeit", "pydoc",
    "asyncio", "multiprocessing", "concurrent", "threading", "_thread", "signal", "inspect", "pkgutil",
    "zipimport", "site", "sysconfig", "_sitebuiltins", "httplib", "http", "urllib", "urllib2", "urllib3",
    "requests", "aiohttp", "httpx", "ftplib", "smtplib", "smtpd", "telnetlib", "poplib", "imaplib",
    "nntplib", "socketserver", "xmlrpc", "ssl", "_ssl", "tempfile", "io", "_io", "codecs", "fileinput",
    "glob", "sqlite3", "dbm", "mmap", "tarfile", "zipfile", "gzip", "bz2", "lzma", "IPython", "jinja2",
    "yaml", "numexpr", "doctest", "idlelib", "lib2to3", "logging", "_winapi", "msvcrt", "winreg", "_osx_support",
    "_aix_support", "gc", "resource", "fcntl", "termios", "tty", "select", "selectors", "crypt", "spwd", "pwd",
    "grp", "getpass", "sched", "atexit", "builtins.__import__", "operator", "_operator", "functools.reduce",
    "tensorflow.io", "tensorflow.python.ops.gen_io_ops", "tensorflow.keras.utils.get_file",
    "pandas.io", "pandas.read_pickle", "pandas.read_csv", "numpy.f2py", "numpy.distutils", "numpy.ctypeslib",
    "numpy.testing", "numpy.load", "numpy.lib.npyio", "numpy.lib.format.read_array", "numpy.fromfile",
    "torch.load", "torch.hub", "torch.jit", "torch.utils.cpp_extension", "torch.package", "torch.serialization",
    "torch._C._jit", "torch._dynamo", "torch._inductor", "torch.fx", "torch.distributed", "torch.multiprocessing",
    "torch.storage._load_from_bytes", "torch.utils.benchmark", "torch.utils.bundled_inputs", "torch.ops",
    "torch._ops", "torch.classes", "torch._classes", "torch.testing", "torch.compile", "torch.library",
    "torch._C._import_ir_module",
    "copyreg", "copy_reg", "__builtin__.eval", "string.Formatter", "uuid._get_command_stdout",
    "uuid._popen", "builtins.eval", "builtins.exec", "builtins.execfile", "builtins.compile", "builtins.open",
    "builtins.file", "builtins.input", "builtins.raw_input", "builtins.getattr", "builtins.setattr",
    "builtins.delattr", "builtins.globals", "builtins.locals", "builtins.vars", "builtins.breakpoint",
    "builtins.help", "builtins.exit", "builtins.quit", "builtins.reload", "builtins.apply", "builtins.type",
    
    "builtins.__build_class__", "builtins.__loader__", "builtins.__spec__",
};

// Attribute components that make any dotted name dangerous.
const std::unordered_set<std::string_view>& danger_components() {
  static const std::unordered_set<std::string_view> s = {
      "os", "posix", "nt", "subprocess", "sys", "builtins", "__builtin__", "importlib", "runpy", "socket",
      "shutil", "ctypes", "marshal", "pickle", "system", "popen", "spawn", "spawnl", "spawnv", "execl", "execv",
      "execve", "execvp", "eval", "exec", "compile", "getattr", "setattr", "__import__", "import_module",
      "load", "loads", "open", "run", "call", "check_output", "Popen", "startfile", "remove", "unlink", "rmtree",
      "write", "write_text", "write_bytes", "read_text", "read_bytes", "system_call", "fork", "kill",
      "getattr_static", "resolve_name", "attrgetter", "methodcaller", "itemgetter", "partial",
  };
  return s;
}

bool prefix_path(std::string_view full, std::string_view prefix) {
  return full.size() >= prefix.size() && full.compare(0, prefix.size(), prefix) == 0 &&
         (full.size() == prefix.size() || full[prefix.size()] == '.');
}

}  // namespace

std::string_view py3_module(std::string_view m) {
  if (m == "__builtin__" || m == "exceptions") return "builtins";
  if (m == "copy_reg") return "copyreg";
  if (m == "cPickle") return "pickle";
  if (m == "commands") return "subprocess";
  if (m == "urllib2") return "urllib.request";
  if (m == "UserDict") return "collections";
  if (m == "cStringIO" || m == "StringIO") return "io";
  return m;
}

Judgement judge_global(std::string_view module_in, std::string_view name_in) {
  std::string_view module = py3_module(module_in);
  std::string_view name = name_in;
  // fix_imports name mapping for Python 2 builtins (pickle's _compat_pickle.NAME_MAPPING).
  if (module == "builtins") {
    if (name == "xrange") name = "range";
    else if (name == "unicode" || name == "basestring") name = "str";
    else if (name == "long") name = "int";
    else if (name == "reduce") module = "functools";
  }
  std::string full = std::string(module) + "." + std::string(name);
  if (allowlist().contains(full)) return {Severity::safe, "allowlist"};
  // TorchScript class types: resolved by the TorchScript importer against the archive's code/,
  // never imported by Python (pickle.load fails on them).
  if (module == "__torch__" || module.starts_with("__torch__.")) return {Severity::safe, "TorchScript type"};
  for (std::string_view d : kDangerModules) {
    if (prefix_path(full, d)) return {Severity::dangerous, std::string(d)};
  }
  // Dotted names are resolved attribute by attribute: judge every component.
  if (name.find('.') != std::string_view::npos || module.find('.') != std::string_view::npos) {
    std::size_t start = 0;
    std::string_view all = full;
    std::size_t first_comp = 0;
    while (start <= all.size()) {
      std::size_t dot = all.find('.', start);
      std::string_view comp = all.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      if (first_comp > 0 && (danger_components().contains(comp) || comp.starts_with("__"))) {
        return {Severity::dangerous, "attribute '" + std::string(comp) + "'"};
      }
      ++first_comp;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    // A dotted name whose leading part is an allowed global reaches an attribute of it.
    std::size_t cut = full.size();
    while ((cut = full.rfind('.', cut - 1)) != std::string::npos && cut > module.size()) {
      if (allowlist().contains(std::string_view(full).substr(0, cut))) {
        return {Severity::suspicious, "attribute of an allowed global"};
      }
    }
  }
  if (name.starts_with("__") && name != "__newobj__") return {Severity::dangerous, "dunder attribute"};
  return {Severity::suspicious, ""};
}

}  // namespace hubgate::scan::pickle
