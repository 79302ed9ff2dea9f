# node-gyp build of the same sources as CMakeLists.txt (cmake-js is the primary build).
# Build offline against the system's Node headers: `npx node-gyp rebuild --nodedir=/usr`. c10d data parallel is
# compiled in when Debian's libgloo-dev headers are present (as CMakeLists.txt does).
{
  "targets": [
    {
      "target_name": "rexrag",
      "sources": [
        "<!@(node -e \"const fs=require('fs');for(const d of ['native','native/core','native/napi'])for(const f of fs.readdirSync(d).sort())if(f.endsWith('.cc'))console.log(d+'/'+f)\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "/usr/include/torch/csrc/api/include"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_CPP_EXCEPTIONS_ALL",
        "_GLIBCXX_USE_CXX11_ABI=1",
        "<!@(node -e \"if(require('fs').existsSync('/usr/include/gloo/config.h'))console.log('REXRAG_WITH_C10D=1 USE_C10D_GLOO=1')\")"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-frtti", "-fexceptions", "-fvisibility=hidden", "-O2", "-fopenmp"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ltorch", "-ltorch_cpu", "-lc10"]
    }
  ]
}
