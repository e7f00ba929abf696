# minimal baseline JPEG encoder with arbitrary sampling factors
import numpy as np, struct
from PIL import Image
ZZ=np.array([0,1,8,16,9,2,3,10,17,24,32,25,18,11,4,5,12,19,26,33,40,48,41,34,27,20,13,6,7,14,21,28,35,42,49,56,57,50,43,36,29,22,15,23,30,37,44,51,58,59,52,45,38,31,39,46,53,60,61,54,47,55,62,63])
QL=np.array([16,11,10,16,24,40,51,61,12,12,14,19,26,58,60,55,14,13,16,24,40,57,69,56,14,17,22,29,51,87,80,62,18,22,37,56,68,109,103,77,24,35,55,64,81,104,113,92,49,64,78,87,103,121,120,101,72,92,95,98,112,100,103,99]).reshape(8,8)
QC=np.array([17,18,24,47,99,99,99,99,18,21,26,66,99,99,99,99,24,26,56,99,99,99,99,99,47,66,99,99,99,99,99,99]+[99]*32).reshape(8,8)
def scaleq(q,quality):
    s=5000/quality if quality<50 else 200-2*quality
    return np.clip((q*s+50)//100,1,255).astype(int)
DC_L=([0,1,5,1,1,1,1,1,1,0,0,0,0,0,0,0],list(range(12)))
DC_C=([0,3,1,1,1,1,1,1,1,1,1,0,0,0,0,0],list(range(12)))
AC_L=([0,2,1,3,3,2,4,3,5,5,4,4,0,0,1,0x7d],[0x01,0x02,0x03,0x00,0x04,0x11,0x05,0x12,0x21,0x31,0x41,0x06,0x13,0x51,0x61,0x07,0x22,0x71,0x14,0x32,0x81,0x91,0xa1,0x08,0x23,0x42,0xb1,0xc1,0x15,0x52,0xd1,0xf0,0x24,0x33,0x62,0x72,0x82,0x09,0x0a,0x16,0x17,0x18,0x19,0x1a,0x25,0x26,0x27,0x28,0x29,0x2a,0x34,0x35,0x36,0x37,0x38,0x39,0x3a,0x43,0x44,0x45,0x46,0x47,0x48,0x49,0x4a,0x53,0x54,0x55,0x56,0x57,0x58,0x59,0x5a,0x63,0x64,0x65,0x66,0x67,0x68,0x69,0x6a,0x73,0x74,0x75,0x76,0x77,0x78,0x79,0x7a,0x83,0x84,0x85,0x86,0x87,0x88,0x89,0x8a,0x92,0x93,0x94,0x95,0x96,0x97,0x98,0x99,0x9a,0xa2,0xa3,0xa4,0xa5,0xa6,0xa7,0xa8,0xa9,0xaa,0xb2,0xb3,0xb4,0xb5,0xb6,0xb7,0xb8,0xb9,0xba,0xc2,0xc3,0xc4,0xc5,0xc6,0xc7,0xc8,0xc9,0xca,0xd2,0xd3,0xd4,0xd5,0xd6,0xd7,0xd8,0xd9,0xda,0xe1,0xe2,0xe3,0xe4,0xe5,0xe6,0xe7,0xe8,0xe9,0xea,0xf1,0xf2,0xf3,0xf4,0xf5,0xf6,0xf7,0xf8,0xf9,0xfa])
AC_C=([0,2,1,2,4,4,3,4,7,5,4,4,0,1,2,0x77],[0x00,0x01,0x02,0x03,0x11,0x04,0x05,0x21,0x31,0x06,0x12,0x41,0x51,0x07,0x61,0x71,0x13,0x22,0x32,0x81,0x08,0x14,0x42,0x91,0xa1,0xb1,0xc1,0x09,0x23,0x33,0x52,0xf0,0x15,0x62,0x72,0xd1,0x0a,0x16,0x24,0x34,0xe1,0x25,0xf1,0x17,0x18,0x19,0x1a,0x26,0x27,0x28,0x29,0x2a,0x35,0x36,0x37,0x38,0x39,0x3a,0x43,0x44,0x45,0x46,0x47,0x48,0x49,0x4a,0x53,0x54,0x55,0x56,0x57,0x58,0x59,0x5a,0x63,0x64,0x65,0x66,0x67,0x68,0x69,0x6a,0x73,0x74,0x75,0x76,0x77,0x78,0x79,0x7a,0x82,0x83,0x84,0x85,0x86,0x87,0x88,0x89,0x8a,0x92,0x93,0x94,0x95,0x96,0x97,0x98,0x99,0x9a,0xa2,0xa3,0xa4,0xa5,0xa6,0xa7,0xa8,0xa9,0xaa,0xb2,0xb3,0xb4,0xb5,0xb6,0xb7,0xb8,0xb9,0xba,0xc2,0xc3,0xc4,0xc5,0xc6,0xc7,0xc8,0xc9,0xca,0xd2,0xd3,0xd4,0xd5,0xd6,0xd7,0xd8,0xd9,0xda,0xe2,0xe3,0xe4,0xe5,0xe6,0xe7,0xe8,0xe9,0xea,0xf2,0xf3,0xf4,0xf5,0xf6,0xf7,0xf8,0xf9,0xfa])
def codes(t):
    bits,vals=t; code=0; k=0; out={}
    for l in range(1,17):
        for _ in range(bits[l-1]):
            out[vals[k]]=(code,l); k+=1; code+=1
        code<<=1
    return out
C=np.array([[ (np.sqrt(1/8) if u==0 else np.sqrt(2/8))*np.cos((2*x+1)*u*np.pi/16) for x in range(8)] for u in range(8)])
class BW:
    def __init__(s): s.buf=bytearray(); s.acc=0; s.n=0
    def put(s,code,l):
        s.acc=(s.acc<<l)|code; s.n+=l
        while s.n>=8:
            b=(s.acc>>(s.n-8))&255; s.buf.append(b)
            if b==255: s.buf.append(0)
            s.n-=8
        s.acc&=(1<<s.n)-1
    def flush(s):
        if s.n: s.put((1<<(8-s.n))-1,8-s.n)
def cat(v):
    v=abs(int(v)); return 0 if v==0 else v.bit_length()
def bitsof(v,c):
    return v if v>=0 else v+(1<<c)-1
def ycc(R,G,B):
    return [0.299*R+0.587*G+0.114*B, -0.168736*R-0.331264*G+0.5*B+128, 0.5*R-0.418688*G-0.081312*B+128]
def sampled(p,h,v,hmax,vmax,W,H):
    # the plane padded to whole MCUs by repeating its edges, then
    # downsampled by box average to the component's factors
    mcux=-(-W//(8*hmax)); mcuy=-(-H//(8*vmax))
    fx=hmax//h; fy=vmax//v
    PW=mcux*hmax*8; PH=mcuy*vmax*8
    return np.pad(p,((0,PH-H),(0,PW-W)),mode='edge').reshape(PH//fy,fy,PW//fx,fx).mean((1,3))
def put_block(bw,blk,q,dc,ac,pred):
    # one 8x8 block (level-shifted samples) transformed, quantized and
    # Huffman-coded; returns its DC value, the next block's predictor
    qq=np.round((C@blk@C.T)/q).astype(int).ravel()[ZZ]
    d=qq[0]-pred; c=cat(d); bw.put(*dc[c])
    if c: bw.put(bitsof(d,c),c)
    run=0; last=max([i for i in range(1,64) if qq[i]!=0],default=0)
    for i in range(1,last+1):
        if qq[i]==0:
            run+=1
            if run==16: bw.put(*ac[0xf0]); run=0
            continue
        c=cat(qq[i]); bw.put(*ac[(run<<4)|c]); bw.put(bitsof(qq[i],c),c); run=0
    if last<63: bw.put(*ac[0])
    return qq[0]
def encode(rgb, sampling=((1,1),(1,1),(1,1)), quality=90, path='o.jpg', gray=False, restart=0, app=b'', adobe=None, qtable_per_comp=None):
    rgb=np.asarray(rgb,dtype=float)
    H,W=rgb.shape[:2]
    if gray:
        planes=[rgb if rgb.ndim==2 else rgb[...,0]]; sampling=((1,1),)
    else:
        R,G,B=rgb[...,0],rgb[...,1],rgb[...,2]
        if adobe==0:
            planes=[R,G,B]
        else:
            planes=ycc(R,G,B)
    hmax=max(s[0] for s in sampling); vmax=max(s[1] for s in sampling)
    mcux=-(-W//(8*hmax)); mcuy=-(-H//(8*vmax))
    ql=scaleq(QL,quality); qc=scaleq(QC,quality)
    qts=[ql]+[qc]*(len(planes)-1)
    if qtable_per_comp: qts=qtable_per_comp(ql,qc)
    comp=[sampled(p,*sampling[i],hmax,vmax,W,H) for i,p in enumerate(planes)]
    hts=[(codes(DC_L),codes(AC_L)),(codes(DC_C),codes(AC_C))]
    bw=BW(); pred=[0]*len(planes)
    nmcu=0; rstn=0
    for my in range(mcuy):
        for mx in range(mcux):
            if restart and nmcu and nmcu%restart==0:
                bw.flush(); bw.buf+=bytes([0xff,0xd0+(rstn%8)]); rstn+=1; pred=[0]*len(planes)
            nmcu+=1
            for ci,pp in enumerate(comp):
                h,v=sampling[ci]
                dc,ac=hts[0 if ci==0 else 1]
                q=qts[ci]
                for by in range(v):
                    for bx in range(h):
                        y0=(my*v+by)*8; x0=(mx*h+bx)*8
                        pred[ci]=put_block(bw,pp[y0:y0+8,x0:x0+8]-128,q,dc,ac,pred[ci])
    bw.flush()
    out=bytearray(b'\xff\xd8')
    out+=b'\xff\xe0'+struct.pack('>H',16)+b'JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00' if adobe is None else b''
    if adobe is not None:
        out+=b'\xff\xee'+struct.pack('>H',14)+b'Adobe'+bytes([0,100,0,0,0,0,adobe])
    out+=app
    uniq=[]
    for q in qts:
        if not any((q==u).all() for u in uniq): uniq.append(q)
    qidx=[next(i for i,u in enumerate(uniq) if (u==q).all()) for q in qts]
    for i,u in enumerate(uniq):
        out+=b'\xff\xdb'+struct.pack('>H',67)+bytes([i])+bytes(u.ravel()[ZZ].astype(np.uint8))
    out+=b'\xff\xc0'+struct.pack('>HBHHB',8+3*len(planes),8,H,W,len(planes))
    for i in range(len(planes)):
        h,v=sampling[i]; out+=bytes([i+1,(h<<4)|v,qidx[i]])
    for cls,idx,t in [(0,0,DC_L),(1,0,AC_L),(0,1,DC_C),(1,1,AC_C)]:
        body=bytes([(cls<<4)|idx])+bytes(t[0])+bytes(t[1])
        out+=b'\xff\xc4'+struct.pack('>H',2+len(body))+body
    if restart: out+=b'\xff\xdd'+struct.pack('>HH',4,restart)
    out+=b'\xff\xda'+struct.pack('>HB',6+2*len(planes),len(planes))
    for i in range(len(planes)): out+=bytes([i+1,0 if i==0 else 0x11])
    out+=bytes([0,63,0])
    out+=bw.buf+b'\xff\xd9'
    open(path,'wb').write(out)

def encode_noninterleaved(rgb, sampling=((2,2),(1,1),(1,1)), quality=90, path='o.jpg'):
    rgb=np.asarray(rgb,dtype=float); H,W=rgb.shape[:2]
    R,G,B=rgb[...,0],rgb[...,1],rgb[...,2]
    planes=ycc(R,G,B)
    hmax=max(s[0] for s in sampling); vmax=max(s[1] for s in sampling)
    ql=scaleq(QL,quality); qc=scaleq(QC,quality); qts=[ql,qc,qc]
    hts=[(codes(DC_L),codes(AC_L)),(codes(DC_C),codes(AC_C))]
    out=bytearray(b'\xff\xd8')+b'\xff\xe0'+struct.pack('>H',16)+b'JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00'
    for i,u in enumerate([ql,qc]):
        out+=b'\xff\xdb'+struct.pack('>H',67)+bytes([i])+bytes(u.ravel()[ZZ].astype(np.uint8))
    out+=b'\xff\xc0'+struct.pack('>HBHHB',8+9,8,H,W,3)
    for i in range(3):
        h,v=sampling[i]; out+=bytes([i+1,(h<<4)|v,0 if i==0 else 1])
    for cls,idx,t in [(0,0,DC_L),(1,0,AC_L),(0,1,DC_C),(1,1,AC_C)]:
        body=bytes([(cls<<4)|idx])+bytes(t[0])+bytes(t[1]); out+=b'\xff\xc4'+struct.pack('>H',2+len(body))+body
    mcux=-(-W//(8*hmax)); mcuy=-(-H//(8*vmax))
    for ci,p in enumerate(planes):
        h,v=sampling[ci]; pp=sampled(p,h,v,hmax,vmax,W,H)
        cw=-(-W*h//hmax); ch=-(-H*v//vmax); bw_=-(-cw//8); bh_=-(-ch//8)
        dc,ac=hts[0 if ci==0 else 1]; q=qts[ci]; bw=BW(); pred=0
        for by in range(bh_):
            for bx in range(bw_):
                pred=put_block(bw,pp[by*8:by*8+8,bx*8:bx*8+8]-128,q,dc,ac,pred)
        bw.flush()
        out+=b'\xff\xda'+struct.pack('>HB',8,1)+bytes([ci+1,0 if ci==0 else 0x11])+bytes([0,63,0])+bw.buf
    out+=b'\xff\xd9'; open(path,'wb').write(out)
